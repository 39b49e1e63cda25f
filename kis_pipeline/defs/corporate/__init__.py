"""Corporate actions and the adjustment factors they give, built from the warehouse with no
call; and the KSD schedules they read: `bonus_issues`, `capital_reductions`, `rights_issues`
and `mergers`."""
