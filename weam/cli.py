"""What the command lines share."""

import argparse


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """`--help` keeps the line breaks of the script's docstring and shows every argument's default."""
