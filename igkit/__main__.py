import sys

from igkit.cli.main import main

sys.exit(main())
