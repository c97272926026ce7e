import type { Deps, Actor } from "../deps.js";
import type { SearchRequest, SearchResponse } from "@shared/protocol/search.js";
import type { RoomWriter } from "../events/writer.js";

/**
 * Message search (issue 18): one service behind GET /api/v1/search, GET
 * /api/v1/rooms/{roomId}/messages?search= and the socket's `search`.
 */
export class SearchService {
  constructor(
    private readonly deps: Deps,
    private readonly writer: RoomWriter,
  ) {}

  /**
   * The messages `actor` may read now that match `request.q`, a page at a time.
   * @throws AppError validation_failed (empty query, a query problem, longer than --search-query-max-chars, a bad cursor),
   *   not_found / forbidden (`roomId` not readable by the actor)
   */
  search(actor: Actor, request: SearchRequest): Promise<SearchResponse> {
    void this.deps;
    void this.writer;
    void actor;
    void request;
    return Promise.reject(new Error("search: being built (issue 18)"));
  }
}
