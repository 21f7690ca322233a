"""A small stand-in for the old `openai` client module (openai<1.0 API) that
google-deepmind/opro's scripts import. It implements only what they use:
`openai.api_key`, `openai.ChatCompletion.create(model=, messages=,
temperature=, max_tokens=, ...)` returning an object whose
`.choices[0].message.content` is the reply, and the `openai.error`
exception classes their retry code catches. Requests go over HTTP (one
persistent connection, as the old client's requests.Session kept) to
`openai.api_base`, from $OPENAI_API_BASE (e.g. opro-sim's
http://127.0.0.1:PORT/v1). Written for opro-lua's bench/; not the real
library.
"""

import http.client
import json
import os
import types
import urllib.parse

api_key = os.environ.get("OPENAI_API_KEY")
api_base = os.environ.get("OPENAI_API_BASE", "https://api.openai.com/v1")
request_timeout = 600


class OpenAIError(Exception):
    def __init__(self, message="", http_status=None, headers=None):
        super().__init__(message)
        self.http_status = http_status
        headers = headers or {}
        ra = headers.get("retry-after")
        if ra is not None:
            try:
                self.retry_after = float(ra)
            except ValueError:
                pass


class APIError(OpenAIError):
    pass


class Timeout(OpenAIError):
    pass


class RateLimitError(OpenAIError):
    pass


class APIConnectionError(OpenAIError):
    pass


class ServiceUnavailableError(OpenAIError):
    pass


class InvalidRequestError(OpenAIError):
    pass


class AuthenticationError(OpenAIError):
    pass


error = types.ModuleType("openai.error")
for _cls in (OpenAIError, APIError, Timeout, RateLimitError, APIConnectionError,
             ServiceUnavailableError, InvalidRequestError, AuthenticationError):
    setattr(error, _cls.__name__, _cls)


class OpenAIObject(dict):
    """A dict whose keys are also attributes, like the old client's objects."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError as e:
            raise AttributeError(name) from e


def _wrap(v):
    if isinstance(v, dict):
        return OpenAIObject({k: _wrap(x) for k, x in v.items()})
    if isinstance(v, list):
        return [_wrap(x) for x in v]
    return v


_conn = None
_conn_key = None


def _connection(url):
    global _conn, _conn_key
    key = (url.scheme, url.netloc)
    if _conn is None or _conn_key != key:
        if _conn is not None:
            _conn.close()
        cls = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
        _conn = cls(url.netloc, timeout=request_timeout)
        _conn_key = key
    return _conn


def _post(path, body):
    global _conn
    url = urllib.parse.urlsplit(api_base.rstrip("/") + path)
    headers = {"Content-Type": "application/json"}
    if api_key:
        headers["Authorization"] = "Bearer " + api_key
    data = json.dumps(body).encode()
    try:
        conn = _connection(url)
        conn.request("POST", url.path, body=data, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
    except TimeoutError as e:
        _conn = None
        raise Timeout(str(e)) from e
    except (OSError, http.client.HTTPException) as e:
        if _conn is not None:
            _conn.close()
        _conn = None
        raise APIConnectionError(str(e)) from e
    hdrs = {k.lower(): v for k, v in resp.getheaders()}
    if resp.status != 200:
        msg = raw.decode("utf-8", "replace")
        if resp.status == 429:
            raise RateLimitError(msg, resp.status, hdrs)
        if resp.status in (502, 503, 529):
            raise ServiceUnavailableError(msg, resp.status, hdrs)
        if resp.status == 401:
            raise AuthenticationError(msg, resp.status, hdrs)
        if resp.status >= 500:
            raise APIError(msg, resp.status, hdrs)
        raise InvalidRequestError(msg, resp.status, hdrs)
    try:
        return _wrap(json.loads(raw))
    except ValueError as e:
        raise APIError("invalid JSON in the response: " + str(e), resp.status, hdrs) from e


class ChatCompletion:
    @staticmethod
    def create(**params):
        return _post("/chat/completions", params)


class Completion:
    @staticmethod
    def create(**params):
        return _post("/completions", params)
