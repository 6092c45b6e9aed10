"""The demo generators import from the package, as its docstring names them."""
from __future__ import annotations

from mmdata.demo_corpora import MosiDemoConfig, ShapesDemoConfig, write_mosi_demo, write_shapes_demo
from mmdata.demo_corpora import mosi_demo, shapes_demo


def test_the_generators_import_from_the_package():
    assert (write_mosi_demo, MosiDemoConfig) == (mosi_demo.write_mosi_demo, mosi_demo.MosiDemoConfig)
    assert (write_shapes_demo, ShapesDemoConfig) == (shapes_demo.write_shapes_demo, shapes_demo.ShapesDemoConfig)
