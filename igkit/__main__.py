import sys

from igkit.cli import main

sys.exit(main())
