"""`python -m mmdata ...` runs the command line."""
from mmdata.cli import main

main()
