"""Merging datasets made with the same extractors into one (`merge_datasets`, `mmdata merge`).

    mmdata.merge.sources   the datasets, their names and splits, the tables they hold alike
    mmdata.merge.samples   the merged samples table: ids, groups, splits, media paths, extra.source_dataset
    mmdata.merge.tables    a merged feature table, cut into the merged samples' shards
    mmdata.merge.dataset   `merge_datasets`, its report and the merged dataset's manifest
"""
from mmdata.merge.dataset import MergeReport, merge_datasets

__all__ = ["MergeReport", "merge_datasets"]
