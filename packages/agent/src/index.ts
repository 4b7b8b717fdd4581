/**
 * @slmops/agent — the device side of a release: `slmops agent` pulls signed
 * releases through TUF, downloads resumably, verifies, installs atomically,
 * health-checks and rolls back; the application asks which model is active.
 */
export { Agent, CheckFailure, type AgentDependencies, type CheckOutcome, type DownloadFunction, type HealthCheckFunction, type RolloutState } from "./agent.js";
export { BACKOFF_JITTER, nextDelay } from "./backoff.js";
export { DEFAULT_AGENT_CONFIG, loadAgentConfig, type AgentConfig } from "./config.js";
export { AGENT_EVENTS, agentEvent, EVENT_FIELDS, jsonLinesSink, type AgentEvent, type AgentEventName, type EventSink, type IdleOutcome } from "./events.js";
export { readActive, readReleaseRecord, type ReleaseRecord } from "./install.js";
export { EMPTY_JOURNAL, readJournal, UPDATE_STEPS, type InstalledVersion, type Journal, type PendingUpdate, type UpdateStep } from "./journal.js";
export { agentLayout, RELEASE_RECORD, versionDirName, type AgentLayout } from "./layout.js";
export { activeModel, watchActiveModel, type ActiveModel, type ActiveModelWatcher } from "./active-model.js";
export { DEFAULT_FREE_SPACE_MARGIN_BYTES, DEFAULT_READ_TIMEOUT_MS, DownloadError, downloadFile, InsufficientSpaceError, MAX_REDIRECTS, partialPathOf, redactUrl, type DownloadErrorInit, type DownloadFailure, type DownloadOptions, type DownloadProgress, type DownloadResult, type ExpectedFile, type FreeSpace } from "./download.js";
export { CollectorReporter, MAX_EVENTS_PER_REPORT, MAX_PENDING_REPORTS, type FlushResult } from "./collector-reporter.js";
export { createDeviceAgent, type DeviceAgent, type DeviceAgentOptions } from "./device-agent.js";
export { DEFAULT_FIELD_FLUSH_MS, FieldRecorder, MAX_FIELD_FILES_PER_CHECK, readFieldFiles, type FieldFigures, type FieldFile } from "./field-figures.js";
export { healthCheckInChildProcess, MAX_HEALTH_CHECK_OUTPUT_BYTES, type HealthCheckCommand } from "./health-check-process.js";
export { checkRepository, RepositoryCheckError, type RepositoryCheck, type RepositoryCheckOptions } from "./repository-check.js";
