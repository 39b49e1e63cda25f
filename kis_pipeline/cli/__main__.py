"""`python -m kis_pipeline.cli`: the `kis-pipeline` command without its installed script."""

import sys

from kis_pipeline.cli.main import main

sys.exit(main())
