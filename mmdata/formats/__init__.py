"""Readers and writers of third-party on-disk formats (SDK `.csd` files, processed pickles).

These modules know file formats only; the corpus loaders in `mmdata.corpora` turn what they read
into samples and tables.
"""
