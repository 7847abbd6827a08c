import sys

from envlock.cli import main

sys.exit(main())
