"""Every domain error, with its stable machine code: this file is the catalogue of codes.

The domain knows no language and no HTTP: an error carries a code and parameters;
``api/problems.py`` maps the class to a status and renders text from the message catalogue.
"""
from __future__ import annotations


class DomainError(Exception):
    code = "error"

    def __init__(self, **params):
        self.params = params
        super().__init__(f"{self.code} {params}" if params else self.code)


# Meanings: the edge maps each of these (and so every subclass) to one HTTP status.
class Unauthenticated(DomainError):
    code = "auth.unauthenticated"


class Forbidden(DomainError):
    code = "access.forbidden"


class NotFound(DomainError):
    code = "resource.not-found"


class Conflict(DomainError):
    code = "resource.conflict"


class RuleViolation(DomainError):
    code = "rule.violation"


class Unavailable(DomainError):
    code = "service.unavailable"


class Throttled(DomainError):
    """Come back later: ``seconds`` says when (the edge sends it as Retry-After)."""
    code = "request.rate-limited"


# Authentication
class InvalidCredentialsError(Unauthenticated):
    code = "auth.invalid-credentials"


class AccountLockedError(Unauthenticated):
    code = "auth.account-locked"


class LoginThrottledError(Throttled):
    """Too many failed log-ins for this username: wait ``seconds`` (the same for unknown usernames)."""
    code = "auth.login-throttled"


class AccountDisabledError(Unauthenticated):
    code = "auth.account-disabled"


class TokenInvalidError(Unauthenticated):
    code = "auth.token-invalid"


class TokenExpiredError(Unauthenticated):
    code = "auth.token-expired"


class TokenRevokedError(Unauthenticated):
    code = "auth.token-revoked"


class RefreshTokenReusedError(Unauthenticated):
    code = "auth.refresh-token-reused"


class WrongCurrentPasswordError(RuleViolation):
    code = "auth.wrong-current-password"


class WeakPasswordError(RuleViolation):
    code = "auth.weak-password"


# Accounts
class AccountNotFoundError(NotFound):
    code = "account.not-found"


class UsernameTakenError(Conflict):
    code = "account.username-taken"


class AccountRoleRuleError(RuleViolation):
    code = "account.role-rule"


# Units
class UnitNotFoundError(NotFound):
    code = "unit.not-found"


class UnitCodeTakenError(Conflict):
    code = "unit.code-taken"


class UnitParentRuleError(RuleViolation):
    code = "unit.parent-rule"


class UnitMoveIntoOwnSubtreeError(RuleViolation):
    code = "unit.move-into-own-subtree"


class UnitHasChildrenError(Conflict):
    code = "unit.has-children"


class UnitHasHistoryError(Conflict):
    code = "unit.has-history"


class UnitFieldRuleError(RuleViolation):
    code = "unit.field-rule"


class CoordinateOutOfRangeError(RuleViolation):
    code = "geo.coordinate-out-of-range"


# Units (added by the organisation-tree work): codes, datums, CSV import
class UnitCodeFormatError(RuleViolation):
    code = "unit.code-format"


class CoordinateSystemUnknownError(RuleViolation):
    code = "geo.crs-unknown"


class CsvEncodingError(RuleViolation):
    code = "csv.encoding-unknown"


class CsvHeaderError(RuleViolation):
    code = "csv.header-invalid"


class CsvRowMalformedError(RuleViolation):
    code = "csv.row-malformed"


class CsvDuplicateCodeError(Conflict):
    code = "csv.duplicate-code"


class CsvParentUnresolvedError(RuleViolation):
    code = "csv.parent-unresolved"


# Storage
class ConcurrentModificationError(Conflict):
    code = "resource.concurrent-modification"


class PreconditionFailedError(Conflict):
    code = "resource.precondition-failed"


class InvalidCursorError(RuleViolation):
    code = "pagination.invalid-cursor"


# Audit
class AuditChainBrokenError(DomainError):
    code = "audit.chain-broken"


class AuditEventNotFoundError(NotFound):
    code = "audit.event-not-found"


class AuditChainFilterForbiddenError(Forbidden):
    code = "audit.chain-filter-forbidden"


# Forms (检查表): loading files as immutable versions, reading them, checking answers against them
class FormInvalidError(RuleViolation):
    code = "form.invalid"


class FormVersionContentChangedError(Conflict):
    code = "form.version-content-changed"


class FormVersionBehindError(Conflict):
    code = "form.version-behind"


class FormVersionNotFoundError(NotFound):
    code = "form.version-not-found"


class FormAnswersInvalidError(RuleViolation):
    code = "form.answers-invalid"


# Uploads (tus and plain) and the evidence blob store: transport and storage of intake.
# The HTTP statuses the tus protocol fixes (413, 415, 460, 410, 400) are set in api/uploads/problems.py.
class UploadNotFoundError(NotFound):
    code = "upload.not-found"


class UploadExpiredError(NotFound):
    code = "upload.expired"


class UploadTooLargeError(RuleViolation):
    code = "upload.too-large"


class UploadHashMismatchError(RuleViolation):
    code = "upload.hash-mismatch"


class UploadSizeMismatchError(RuleViolation):
    code = "upload.size-mismatch"


class UnsupportedMediaError(RuleViolation):
    code = "upload.unsupported-media-type"


class UploadChecksumMismatchError(RuleViolation):
    code = "upload.checksum-mismatch"


class UploadChecksumUnsupportedError(RuleViolation):
    code = "upload.checksum-algorithm-unsupported"


class UploadMetadataInvalidError(RuleViolation):
    code = "upload.metadata-invalid"


class UploadTargetUnknownError(RuleViolation):
    code = "upload.target-unknown"


class UploadInterruptedError(RuleViolation):
    code = "upload.interrupted"


class UploadOffsetMismatchError(Conflict):
    code = "upload.offset-mismatch"


class UploadLockedError(Conflict):
    code = "upload.locked"


class UploadAlreadyCompleteError(Conflict):
    code = "upload.already-complete"


class UploadTooManyOpenError(Conflict):
    code = "upload.too-many-open"


class UploadClaimExpiredError(Unavailable):
    """A plain upload's completion outlived its claim on the blob; nothing was kept, send it again."""
    code = "upload.claim-expired"

# Tasks (检查任务) and the phone's task sync
class TaskNotFoundError(NotFound):
    code = "task.not-found"


class TaskTransitionError(Conflict):
    """Params ``from``, ``to`` (statuses) and ``action``."""
    code = "task.illegal-transition"


class TaskNotEditableError(Conflict):
    code = "task.not-editable"


class TaskConflictOfInterestError(RuleViolation):
    code = "task.conflict-of-interest"


class TaskInspectorNotInPoolError(RuleViolation):
    code = "task.inspector-not-in-pool"


class TaskWindowInvalidError(RuleViolation):
    code = "task.window-invalid"


class TaskUnitRuleError(RuleViolation):
    code = "task.unit-rule"


class TaskFormModeMismatchError(RuleViolation):
    code = "task.form-mode-mismatch"


class TaskReasonRequiredError(RuleViolation):
    code = "task.reason-required"


class TaskNotAssignedError(RuleViolation):
    code = "task.not-assigned"


class TaskFilterNotAllowedError(RuleViolation):
    code = "task.filter-not-allowed"


class SyncTokenInvalidError(RuleViolation):
    code = "sync.token-invalid"


# Reports (现场检查记录) and their declared evidence: intake from the phone
class ReportNotFoundError(NotFound):
    code = "report.not-found"


class ReportInvalidError(RuleViolation):
    """``_errors``: per item id (answers and findings), or ``evidence.<client_id>`` for a declared file."""
    code = "report.invalid"


class ReportSubmissionConflictError(Conflict):
    """The submission id was used before with a different payload (params ``submission_id``, ``report``)."""
    code = "report.submission-conflict"


class ReportAlreadySubmittedError(Conflict):
    """One report per inspector per task; ``report`` names the existing one."""
    code = "report.already-submitted"


class ReportOutsideAssignmentError(RuleViolation):
    """Only: not assigned, or the task was cancelled before the declared visit (param ``reason``)."""
    code = "report.outside-assignment"


class ReportFormMismatchError(RuleViolation):
    code = "report.form-mismatch"


class EvidenceNotDeclaredError(NotFound):
    code = "report.evidence-not-declared"


class EvidenceAlreadyReceivedError(Conflict):
    code = "report.evidence-already-received"


class EvidenceWithdrawnError(Conflict):
    """The inspector withdrew this declared file: it is no longer awaited and nothing is taken for it."""
    code = "report.evidence-withdrawn"


class ReportFilesSettledError(Conflict):
    """Declared files can no longer be withdrawn or replaced (param ``reason``: task-reviewed, report-closed,
    report-received)."""
    code = "report.files-settled"


class ReportReasonRequiredError(RuleViolation):
    """Withdrawing or replacing a declared file, or closing a report as incomplete, needs a written reason
    (params ``min_length``, ``max_length``)."""
    code = "report.reason-required"


class ReportNotIncompleteError(Conflict):
    """Only an incomplete report can be closed as incomplete (param ``status``)."""
    code = "report.not-incomplete"


class EvidenceMismatchError(RuleViolation):
    """An upload's SHA-256 or size differs from what the report declared for that file."""
    code = "report.evidence-mismatch"


# Evidence validation, working copies and custody (domain/evidence)
class EvidenceNotFoundError(NotFound):
    code = "evidence.not-found"


class EvidenceCopyNotReadyError(NotFound):
    """The thumbnail (made by validation) or the preview (its own job) does not exist yet (param ``copy``)."""
    code = "evidence.copy-not-ready"


class EvidenceOverrideInvalidError(RuleViolation):
    """An override needs an outcome and a written reason of at least 5 characters (param ``field``)."""
    code = "evidence.override-invalid"


class EvidenceNotValidatedError(Conflict):
    """A verdict can be overridden only once there is one."""
    code = "evidence.not-validated"


# Hostile request bodies and text (docs/text.md): refused before anything is loaded or stored
class TextForbiddenCharacterError(RuleViolation):
    """A name, title or remark holds a control, bidi-override or surrogate character (params
    ``field``, ``char`` as U+XXXX, ``position``)."""
    code = "text.forbidden-character"


class BodyTooDeepError(RuleViolation):
    """A JSON body nests arrays and objects deeper than ``max``."""
    code = "request.too-deep"


class BodyTooManyItemsError(RuleViolation):
    """One JSON array or object of the body has more than ``max`` entries."""
    code = "request.too-many-items"


class BodyTooManyValuesError(RuleViolation):
    """The JSON body holds more than ``max`` values in all."""
    code = "request.too-many-values"


class BodyNotExpectedError(RuleViolation):
    """A JSON body sent to an action that takes none: refused like an unknown field anywhere else."""
    code = "request.body-not-expected"


class BodyTextInvalidError(RuleViolation):
    """A JSON string holds a lone surrogate escape (``\\ud800``): not a character, it cannot be stored."""
    code = "request.invalid-text"


def all_error_classes() -> list[type[DomainError]]:
    """Every error class, for the catalogue test and the docs."""
    seen: list[type[DomainError]] = []
    stack = [DomainError]
    while stack:
        cls = stack.pop()
        seen.append(cls)
        stack.extend(cls.__subclasses__())
    return seen
