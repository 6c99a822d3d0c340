"""Every exception wordgrad raises, in one place.

All of them derive from :class:`WordgradError`, so ``except wordgrad.errors.WordgradError`` catches
anything the library raises on purpose. Where upstream textgrad raised a builtin (``ValueError``,
``TypeError``), the matching class here also derives from that builtin, so existing ``except``
clauses keep working.

Each message names the problem and the fix. Secrets (API keys) never appear in a message.
"""

from __future__ import annotations


class WordgradError(Exception):
    """Base class of every error wordgrad raises on purpose."""


class ConfigurationError(WordgradError, ValueError):
    """Wrong or missing setup: no engine set, an unknown engine name, a missing extra or key."""


class NoEngineError(ConfigurationError):
    """An operation needs an engine and none was given or set as a default."""


class InvalidInputError(WordgradError, TypeError):
    """A value of the wrong type or shape was passed to a public function."""


class GraphError(WordgradError, ValueError):
    """The computation graph is inconsistent (e.g. a frozen variable built from trainable ones)."""


class NodeError(WordgradError):
    """An operation in the graph failed; the message names the node (its role) that failed.

    ``cause`` holds the original exception, which is also chained as ``__cause__``.
    """

    def __init__(self, message: str, *, role: str, cause: BaseException | None = None) -> None:
        super().__init__(message)
        self.role = role
        self.cause = cause


class EngineError(WordgradError):
    """A call to a language model failed.

    ``status`` is the HTTP status when there was one; ``retryable`` says whether the retry layer
    may try the same request again. The executor fills in what the request was: ``role`` (of the
    variable its reply becomes), ``purpose`` (forward, backward, optimizer, evaluation) and
    ``model`` (the engine's ``provider/model`` name); ``str(error)`` then names them.
    """

    retryable: bool = False

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.role: str = ""
        self.purpose: str = ""
        self.model: str = ""

    def __str__(self) -> str:
        message = super().__str__()
        about = ", ".join(
            f"{name} {value!r}"
            for name, value in (
                ("role", getattr(self, "role", "")),
                ("purpose", getattr(self, "purpose", "")),
                ("model", getattr(self, "model", "")),
            )
            if value
        )
        return f"{message} [{about}]" if about else message


class RateLimitError(EngineError):
    """The provider said "too many requests" (HTTP 429). Retried, honouring ``retry_after``."""

    retryable = True

    def __init__(
        self, message: str, *, status: int | None = 429, retry_after: float | None = None
    ) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class ServerError(EngineError):
    """The provider failed on its side (HTTP 5xx, 408 or 409). Retried."""

    retryable = True

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class EngineTimeoutError(EngineError):
    """The call took longer than its time-out. Retried."""

    retryable = True


class EngineConnectionError(EngineError):
    """The provider could not be reached. Retried."""

    retryable = True


class AuthenticationError(EngineError):
    """The provider rejected the credentials (HTTP 401/403). Never retried."""


class InvalidRequestError(EngineError, ValueError):
    """The provider rejected the request itself (HTTP 400/404/422). Never retried."""


class ContextLengthError(InvalidRequestError):
    """A prompt does not fit into the engine's context window.

    Raised before sending when the engine declares its window, instead of silently cutting text.
    """


class ResponseFormatError(EngineError):
    """The provider's reply cannot be used: a body that is not UTF-8, a message with no content.

    Never retried: the same request gets the same kind of reply.
    """


class MalformedResponseError(ResponseFormatError):
    """A successful (HTTP 200) reply whose body is not the expected JSON (cut off, garbled).

    Retried: proxies and overloaded servers send these now and then.
    """

    retryable = True


class DeadlineExceededError(EngineError):
    """Retries ran out of their total time budget; ``last_error`` is the final failure."""

    def __init__(self, message: str, *, last_error: BaseException | None = None) -> None:
        super().__init__(message)
        self.last_error = last_error


class UpdateParseError(WordgradError):
    """The optimizer could not find the new value in the engine's reply, even after one repair.

    The parameter keeps its old value. ``reply`` holds the last reply, ``parameter_role`` the role
    of the variable that was being updated.
    """

    def __init__(self, message: str, *, parameter_role: str, reply: str) -> None:
        super().__init__(message)
        self.parameter_role = parameter_role
        self.reply = reply


class DataError(WordgradError):
    """A data set is missing, corrupt or malformed; the message says where we looked."""


class BudgetExceededError(WordgradError):
    """A run stopped because it would exceed its token or cost budget."""


class WordgradWarning(UserWarning):
    """Base class of the warnings wordgrad issues."""


class NoGradientWarning(WordgradWarning):
    """A trainable parameter received no feedback, so ``step()`` left it unchanged.

    Usually the parameter is not connected to the loss that ``backward()`` was called on, or
    ``zero_grad()`` ran after ``backward()``.
    """


class LeakWarning(WordgradWarning):
    """An update copied the optimizer's own tags or a training input verbatim into a variable.

    Both make an optimized prompt worse than it looks: tags confuse the model that reads it, and
    pasted examples score well on training data only. Consider a constraint against it.
    """
