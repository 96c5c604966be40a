"`python -m fhnb`: the `fhnb` command line."
from fhnb.cli import console

console()
