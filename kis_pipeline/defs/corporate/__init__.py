"""Corporate actions and the adjustment factors they give: built from the warehouse, no call."""
