import type { Deps } from "./deps.js";
import { AuthService } from "./auth/service.js";
import { RoomService } from "./rooms/service.js";
import { MessageService } from "./messages/service.js";
import { RoomWriter } from "./events/writer.js";
import { UserService } from "./users/service.js";

/** Every domain service, built once per server from the same deps. */
export interface Services {
  auth: AuthService;
  users: UserService;
  rooms: RoomService;
  messages: MessageService;
  /** The group-commit queue behind every seq-taking write; drained at shutdown. */
  writer: RoomWriter;
}

export function createServices(deps: Deps): Services {
  const { dialect } = deps.store;
  const writer = new RoomWriter(deps.store.db, deps.bus, deps.log, () => dialect.durable(), deps.config.commitWindowMs, () => dialect.beforeCommit());
  return {
    auth: new AuthService(deps),
    users: new UserService(deps),
    rooms: new RoomService(deps, writer),
    messages: new MessageService(deps, writer),
    writer,
  };
}
