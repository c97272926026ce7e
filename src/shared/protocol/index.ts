/** The wire protocol: every REST body and WebSocket frame, declared once. */
export * from "./limits.js";
export * from "./text.js";
export * from "./errors.js";
export * from "./entities.js";
export * from "./http.js";
export * from "./frames.js";
export * from "./reactions.js";
export * from "./attachments.js";
export * from "./notifications.js";
