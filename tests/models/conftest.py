"""The photo dataset's small ZIP (three photos), for the build that fetches its caption model."""

from tests.photo_dataset.app.conftest import small_zip  # noqa: F401  (a fixture)
