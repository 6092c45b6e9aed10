"""Regression tests of the `csd` loader: label rows checked one by one, segment-keyed files, label files as tables."""
