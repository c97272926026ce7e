import type { Deps, Actor } from "../deps.js";
import type { User } from "@shared/protocol/entities.js";
import { searchUsers } from "./users.js";

/** The user directory: finding people to talk to. */
export class UserService {
  constructor(private readonly deps: Deps) {}

  /** Users whose username or display name starts with `q`, the caller excluded. */
  search(actor: Actor, q: string | undefined): Promise<User[]> {
    return searchUsers(this.deps.store.db, actor.userId, q);
  }
}
