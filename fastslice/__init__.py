"""fastslice: cut long recordings into clips at silences, exactly as openvpi/audio-slicer, fast."""
from .errors import FastsliceError, ParameterError
from .slicer import Slicer

__version__ = "0.1.0"
__all__ = ["Slicer", "FastsliceError", "ParameterError", "__version__"]
