"""Models' ModelMeta for the web: mteb's registry, else the `models` documents the aggregator
stores for models evaluated or imported here."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from mteb.models import ModelMeta

from shared.store import Store
from shared.summary.models import model_meta, registered


async def model_metas(store: Store, names: Iterable[str]) -> dict[str, ModelMeta]:
    """Each of `names`' ModelMeta (a stub of Nones when nothing is known of it)."""
    wanted = list(dict.fromkeys(names))
    outside = [name for name in wanted if registered(name) is None]
    stored = await store.get_models(outside) if outside else {}
    return {
        name: model_meta(
            name, [r.meta_json for r in stored[name].revisions] if name in stored else ()
        )
        for name in wanted
    }


def release_day(meta: ModelMeta) -> date | None:
    """The model's release date, when it is a valid day."""
    value = meta.release_date
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None
