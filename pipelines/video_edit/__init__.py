"""Video edit (seed 003): a text-prompted mask ("hair", "person", "the red car")
and an instruction edit ("make the hair red") of the masked region of every
frame, temporally smoothed.

Python API (seed 003's names)::

    from pipelines.video_edit import VideoEditRequest, run_video_edit, get_video_edit_status

    run_video_edit(VideoEditRequest(job_id="test_001", input_video_path=Path("clip.mp4"),
                                    output_dir=Path("outputs/test_001"), mask_prompt="hair",
                                    edit_prompt="make the hair red", max_frames=60))
    status = get_video_edit_status("test_001", Path("outputs/test_001"))

Command line: ``python -m pipelines.video_edit INPUT --mask-prompt P --edit-prompt E``.

Importing this package loads no model library: torch, diffusers, transformers
and mediapipe are imported when a job needs them.
"""

# The names below are imported on first use (``__init__.pyi`` lists them), so
# importing one module of the package (its options, its model table) does not
# import the whole pipeline: a worker's lanes start faster.
import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
