"""Imports every model module so `Base.metadata` knows every table (migrations, tests)."""

from hotelbot.storage import models as models
from hotelbot.storage import models_facts as models_facts
from hotelbot.storage import models_leases as models_leases
from hotelbot.storage import models_llm as models_llm
from hotelbot.storage import models_messaging as models_messaging
from hotelbot.storage import models_privacy as models_privacy
from hotelbot.storage import models_stays as models_stays
from hotelbot.storage import models_triggers as models_triggers
from hotelbot.storage.models import Base

__all__ = [
    "Base",
    "models",
    "models_facts",
    "models_leases",
    "models_llm",
    "models_messaging",
    "models_privacy",
    "models_stays",
    "models_triggers",
]
