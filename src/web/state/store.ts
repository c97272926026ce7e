/**
 * The chat store: the current ChatState, changed only by dispatching
 * actions through `chatReducer`. Shaped for React's useSyncExternalStore
 * (subscribe + getSnapshot) and free of React and the DOM, so it also runs
 * in unit tests.
 */
import { INITIAL_CHAT_STATE, chatReducer, type ChatAction, type ChatState } from "./chatReducer";

export class ChatStore {
  private state: ChatState = INITIAL_CHAT_STATE;
  private readonly listeners = new Set<() => void>();

  getState = (): ChatState => this.state;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  dispatch = (action: ChatAction): void => {
    const next = chatReducer(this.state, action);
    if (next === this.state) return;
    this.state = next;
    for (const listener of [...this.listeners]) listener();
  };
}
