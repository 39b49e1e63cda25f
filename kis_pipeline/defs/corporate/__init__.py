"""Corporate actions and the adjustment factors they give, built from the warehouse with no
call; and `bonus_issues` and `capital_reductions`, the KSD schedules they read."""
