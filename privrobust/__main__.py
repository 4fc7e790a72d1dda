import sys

from privrobust.cli import main

sys.exit(main())
