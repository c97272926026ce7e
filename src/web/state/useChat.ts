/**
 * React access to the chat store. The selector must return a value that is
 * stable for an unchanged state (a slice, not a freshly built array), or
 * React re-renders forever; derive lists with useMemo in the component.
 */
import { createContext, useContext, useSyncExternalStore } from "react";
import type { ChatClient } from "@web/app/chatClient";
import type { ChatState } from "./chatReducer";

export const ChatContext = createContext<ChatClient | null>(null);

/** The app's ChatClient (actions: open a room, send, mark read...). */
export function useChatClient(): ChatClient {
  const client = useContext(ChatContext);
  if (!client) throw new Error("useChatClient outside <ChatContext.Provider>");
  return client;
}

/** A slice of the chat state, re-rendering when it changes. */
export function useChat<T>(select: (state: ChatState) => T): T {
  const client = useChatClient();
  return useSyncExternalStore(client.store.subscribe, () => select(client.store.getState()));
}
