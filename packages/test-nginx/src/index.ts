export { startNginx, type NginxServer, type StartNginxOptions } from "./server.js";
export { READY_PATH, renderConfig, type NginxLocation, type NginxOptions, type RenderContext } from "./config.js";
export { parseAccessLog, type AccessLogEntry } from "./access-log.js";
export { NGINX_BINARY_ENV, NginxNotFoundError, findNginx, inCi, nginxAvailable, skipWithoutNginx } from "./binary.js";
