"""The data-quality report (`kis-pipeline report`): one HTML page with plots, for people who
would rather look than read. `sections.py` asks the questions, `page.py` draws the answers."""
