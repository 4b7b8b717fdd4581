/**
 * @slmops/html-report — the verdict and its bench reports as one
 * self-contained HTML file, with the same content as the pull-request report.
 */
export { CONTENT_SECURITY_POLICY, renderHtmlReport, svgChart, type HtmlReportOptions } from "./render-html.js";
export { escapeHtml } from "./html-text.js";
