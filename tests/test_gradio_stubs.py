"""Starting the studio writes no type stubs: Gradio's stub writer is off (studio.gradio_stubs)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_a_component_made_after_the_studio_is_imported_writes_no_stub_file(tmp_path):
    (tmp_path / "mybox.py").write_text(
        textwrap.dedent(
            """
            import gradio as gr

            class MyBox(gr.Textbox):
                pass
            """
        )
    )
    code = textwrap.dedent(
        f"""
        import inspect, sys
        sys.path[:0] = [{str(ROOT)!r}, {str(tmp_path)!r}]
        import studio.server  # the studio's Gradio: the hook is in studio/__init__
        import gradio.component_meta as meta
        import mybox
        # Gradio still has the writer the hook turns off (a release that renames it fails here)
        source = inspect.getsource(meta)
        assert "def create_or_modify_pyi(" in source and "create_or_modify_pyi(component_class" in source
        print(meta.create_or_modify_pyi.__module__)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "studio.gradio_stubs"
    assert not (tmp_path / "mybox.pyi").exists(), "Gradio wrote a stub beside the component"
