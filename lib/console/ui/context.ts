import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { ApiClient } from './api/client';
import type { ConsoleSession } from './api/types';
import type { ConsoleConfig } from './config';

/** What every view needs: the API client, who is signed in, and the shell's settings. */
export interface ConsoleContextValue {
  api: ApiClient;
  session: ConsoleSession;
  config: ConsoleConfig;
}

export const ConsoleContext = createContext<ConsoleContextValue | null>(null);

export function useConsole(): ConsoleContextValue {
  const value = useContext(ConsoleContext);
  if (value === null) throw new Error('useConsole outside of ConsoleContext');
  return value;
}
