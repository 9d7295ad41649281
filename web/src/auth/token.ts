// The bearer token, kept in localStorage so a reload stays signed in.

const KEY = "flowpilot.token";
type Listener = () => void;
const expiredListeners = new Set<Listener>();

export function readToken(): string | null {
  try {
    return window.localStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export function storeToken(token: string): void {
  window.localStorage.setItem(KEY, token);
}

export function clearToken(): void {
  window.localStorage.removeItem(KEY);
}

/** Called when the API refuses the stored token (expired, user deactivated). */
export function onTokenExpired(listener: Listener): () => void {
  expiredListeners.add(listener);
  return () => expiredListeners.delete(listener);
}

export function announceTokenExpired(): void {
  expiredListeners.forEach((listener) => listener());
}
