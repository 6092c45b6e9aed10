"""Tests of .csd reading/writing, the csd/mmsa/mult corpus kinds, `mmdata align` and `mmdata export-csd`."""
