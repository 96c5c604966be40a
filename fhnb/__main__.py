"`python -m fhnb`: the `fhnb` command line."
import sys
from fhnb.cli import main

sys.exit(main())
