"""The project's extension of moto: Auto Scaling lifecycle actions, fault injection and a call log.

`install()` patches moto's Auto Scaling, EC2 and SQS handling in this process; `server.py` runs moto's
server with the extension and the `/_emulator/*` routes.
"""

from .emulator import Emulator, current, install

__all__ = ["Emulator", "current", "install"]
