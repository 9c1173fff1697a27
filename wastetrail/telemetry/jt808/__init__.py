"""JT/T 808 (2011/2013/2019) codec: pure functions and small state machines, no I/O, no Django.

The contract is docs/decisions/0004-telemetry-layout.md. Typical receive path::

    splitter = FrameSplitter(max_frame=4096, max_junk=4096)
    for raw in splitter.feed(data):
        frame = parse_frame(raw)            # FrameError only when no header can be read
        body = reassembler.add(frame.header, frame.body, now)   # sub-packages; None until complete
        body = decode_body(frame.header, frame.body)   # BodyError when the body does not fit
        writer.write(general_reply(frame.header, RESULT_OK, next_serial))
"""

from . import profiles
from .errors import BodyError, CodecError, FrameError
from .framing import (
    MAX_BODY,
    Frame,
    FrameSplitter,
    Header,
    checksum,
    encode_frame,
    encode_packets,
    escape,
    frame_bytes,
    parse_frame,
    phone_from_raw,
    phone_to_raw,
    unescape,
    wire,
)
from .jsonview import body_json, decode_wire_hex, header_json
from .location import (
    STATUS_ACC,
    STATUS_FIXED,
    STATUS_SOUTH,
    STATUS_WEST,
    Location,
    decode_location,
    location_bytes,
    make_location,
)
from .messages import (
    BATCH_BLIND_AREA,
    BATCH_NORMAL,
    BODY_TYPES,
    REGISTER_NO_TERMINAL,
    REGISTER_NO_VEHICLE,
    REGISTER_OK,
    REGISTER_TERMINAL_TAKEN,
    REGISTER_VEHICLE_TAKEN,
    RESULT_ALARM_CONFIRMED,
    RESULT_FAILURE,
    RESULT_MESSAGE_ERROR,
    RESULT_OK,
    RESULT_UNSUPPORTED,
    Authentication,
    DownlinkPassthrough,
    Heartbeat,
    LocationBatch,
    LocationQueryReply,
    Logout,
    MediaData,
    MediaEvent,
    MediaResponse,
    ParameterReply,
    Passthrough,
    PlatformResponse,
    QueryParameters,
    RawBody,
    Register,
    RegisterResponse,
    ResendRequest,
    SetParameters,
    TakePhoto,
    TemporaryTracking,
    TerminalControl,
    TerminalResponse,
    TextMessage,
    decode_body,
    encode_body,
    msg_id_of,
)
from .profiles import Profile
from .reassembly import Pending, Reassembler
from .replies import (
    encode_message,
    encode_message_packets,
    general_reply,
    media_reply,
    register_reply,
    resend_request,
)

__all__ = [
    "BATCH_BLIND_AREA", "BATCH_NORMAL", "BODY_TYPES", "MAX_BODY", "REGISTER_NO_TERMINAL", "REGISTER_NO_VEHICLE",
    "REGISTER_OK", "REGISTER_TERMINAL_TAKEN", "REGISTER_VEHICLE_TAKEN", "RESULT_ALARM_CONFIRMED", "RESULT_FAILURE",
    "RESULT_MESSAGE_ERROR", "RESULT_OK", "RESULT_UNSUPPORTED", "STATUS_ACC", "STATUS_FIXED", "STATUS_SOUTH",
    "STATUS_WEST", "Authentication", "BodyError", "CodecError", "DownlinkPassthrough", "Frame", "FrameError",
    "FrameSplitter", "Header", "Heartbeat", "Location", "LocationBatch", "LocationQueryReply", "Logout", "MediaData",
    "MediaEvent", "MediaResponse", "ParameterReply", "Passthrough", "Pending", "PlatformResponse", "Profile",
    "QueryParameters", "RawBody", "Reassembler", "Register", "RegisterResponse", "ResendRequest", "SetParameters",
    "TakePhoto", "TemporaryTracking", "TerminalControl", "TerminalResponse", "TextMessage", "body_json",
    "decode_wire_hex", "header_json", "checksum", "decode_body", "decode_location", "encode_body", "encode_frame",
    "encode_message", "encode_message_packets", "encode_packets", "escape", "frame_bytes", "general_reply",
    "location_bytes", "make_location", "media_reply", "msg_id_of", "parse_frame", "phone_from_raw", "phone_to_raw",
    "profiles", "register_reply", "resend_request", "unescape", "wire",
]
