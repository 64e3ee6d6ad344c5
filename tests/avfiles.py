"""Audio (and video) files made by the tests through FFmpeg's encoders (PyAV), and a naive whole decode.

The naive decode is the plainest PyAV loop, independent of ``fastslice.reading.readers``:
every frame of one audio stream, in order, as float32 ``(channels, samples)``.
"""
import av
import numpy as np

_ENCODER_FORMAT = {"libmp3lame": "s32p", "aac": "fltp", "libopus": "flt", "flac": "s16", "pcm_s16le": "s16"}


def _frame(block, sample_format, layout, rate):
    """An AudioFrame of float32 (channels, n) samples in the encoder's sample format."""
    clipped = np.clip(block, -1.0, 1.0 - 2.0 ** -15)
    if sample_format == "s32p":
        data = np.ascontiguousarray((clipped * 2.0 ** 31).astype(np.int32))
    elif sample_format == "fltp":
        data = np.ascontiguousarray(clipped, dtype=np.float32)
    elif sample_format == "flt":
        data = np.ascontiguousarray(clipped.T, dtype=np.float32).reshape(1, -1)
    else:  # s16, packed
        data = np.ascontiguousarray((clipped.T * 32768).astype(np.int16)).reshape(1, -1)
    frame = av.AudioFrame.from_ndarray(data, format=sample_format, layout=layout)
    frame.sample_rate = rate
    return frame


def encode(path, tracks, container=None, video_seconds=None, options=None):
    """Write ``tracks`` — a list of (codec, float32 (channels, n) samples, rate) — into one file.

    ``video_seconds`` adds a small MPEG-4 video stream first (a video file's sound track).
    ``options`` are encoder options (e.g. ``{"compression_level": "9"}`` for a fast MP3).
    """
    with av.open(str(path), "w", format=container) as out:
        video = None
        if video_seconds:
            video = out.add_stream("mpeg4", rate=5)
            video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        streams = []
        for codec, samples, rate in tracks:
            stream = out.add_stream(codec, rate=rate, options=options or {})
            stream.layout = "mono" if samples.shape[0] == 1 else "stereo"
            streams.append(stream)
        if video is not None:
            for k in range(int(video_seconds * 5)):
                picture = av.VideoFrame.from_ndarray(np.full((48, 64, 3), (k * 9) % 256, np.uint8), format="rgb24")
                picture.pts = k
                for packet in video.encode(picture):
                    out.mux(packet)
            for packet in video.encode(None):
                out.mux(packet)
        for stream, (codec, samples, rate) in zip(streams, tracks):
            sample_format = _ENCODER_FORMAT[codec]
            step = stream.codec_context.frame_size or 4096
            for start in range(0, samples.shape[1], step):
                for packet in stream.encode(_frame(samples[:, start : start + step], sample_format, stream.layout.name, rate)):
                    out.mux(packet)
            for packet in stream.encode(None):
                out.mux(packet)
    return path


def naive_decode(path, stream=0):
    """Every decoded sample of audio stream ``stream``: float32 (channels, samples)."""
    with av.open(str(path)) as container:
        parts = []
        for frame in container.decode(container.streams.audio[stream]):
            array = frame.to_ndarray()
            name = frame.format.name
            if name == "fltp":
                parts.append(array)
            elif name == "flt":
                parts.append(array.reshape(-1, len(frame.layout.channels)).T)
            elif name == "s16":
                parts.append(array.reshape(-1, len(frame.layout.channels)).T * np.float32(2.0 ** -15))
            else:
                raise AssertionError(f"the test's decode does not convert {name}")
    return np.concatenate(parts, axis=1).astype(np.float32, copy=False)
