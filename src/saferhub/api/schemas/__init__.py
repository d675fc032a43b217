"""The API's contract: request bodies (`bodies`) and responses (`responses`)."""

from saferhub.api.schemas.bodies import *  # noqa: F401,F403
from saferhub.api.schemas.responses import *  # noqa: F401,F403
from saferhub.api.schemas.missing import *  # noqa: F401,F403,E402
