"""Corporate actions and the adjustment factors they give, built from the warehouse with no
call; and `bonus_issues`, the KSD bonus-issue schedule they read."""
