import sys

from oms.cli import main

sys.exit(main())
