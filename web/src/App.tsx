// Routes (DESIGN.md "Web console"): /login, /signup, /queue, /sessions, /pilot/{id}, /notifications, /settings;
// /analytics (owner/admin) is loaded on first visit, so its chart library stays out of the first load.
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { lazy, Suspense } from "react";
import { BrowserRouter, Navigate, Route, Routes } from "react-router";
import { ApiError } from "./api/errors";
import { keys } from "./api/queries";
import { AuthProvider } from "./auth/AuthContext";
import { RequireAuth } from "./auth/RequireAuth";
import { ErrorBoundary } from "./components/ErrorBoundary";
import { Layout } from "./components/Layout";
import { LoginPage } from "./pages/LoginPage";
import { NotFoundPage } from "./pages/NotFoundPage";
import { NotificationsPage } from "./pages/NotificationsPage";
import { QueuePage } from "./pages/QueuePage";
import { SessionsPage } from "./pages/SessionsPage";
import { SettingsPage } from "./pages/SettingsPage";
import { SignupPage } from "./pages/SignupPage";
import { PilotPage } from "./pilot/PilotPage";
import { LiveProvider } from "./stream/LiveProvider";

const AnalyticsPage = lazy(() => import("./analytics/AnalyticsPage"));

const queryClient = new QueryClient({
  defaultOptions: {
    // The browser's online flag is a guess (a spurious "offline" event happens), and by default
    // TanStack holds every read and every click while it says offline: a button then does nothing,
    // in silence. The request itself tells whether FlowPilot can be reached, and says so in words.
    mutations: { networkMode: "always" },
    queries: {
      networkMode: "always",
      staleTime: 5_000,
      // Refusals (4xx) are answers, not glitches: retry only outages and network errors.
      retry: (count, error) => count < 2 && !(error instanceof ApiError && error.status >= 400 && error.status < 500),
    },
  },
});

// The stream's reminder rounds are the only copy there is (never fetched): keep them while the tab lives.
queryClient.setQueryDefaults(keys.rounds, { gcTime: Infinity, staleTime: Infinity });

export function App() {
  return (
    <ErrorBoundary>
      <QueryClientProvider client={queryClient}>
        <BrowserRouter>
          <AuthProvider>
            <LiveProvider>
              <Routes>
                <Route path="/login" element={<LoginPage />} />
                <Route path="/signup" element={<SignupPage />} />
                <Route
                  element={
                    <RequireAuth>
                      <Layout />
                    </RequireAuth>
                  }
                >
                  <Route index element={<Navigate to="/queue" replace />} />
                  <Route path="/queue" element={<QueuePage />} />
                  <Route path="/sessions" element={<SessionsPage />} />
                  <Route path="/pilot/:sessionId" element={<PilotPage />} />
                  <Route path="/notifications" element={<NotificationsPage />} />
                  <Route path="/settings" element={<SettingsPage />} />
                  <Route path="/settings/:section" element={<SettingsPage />} />
                  <Route
                    path="/analytics"
                    element={
                      <Suspense fallback={<p role="status">Loading analytics…</p>}>
                        <AnalyticsPage />
                      </Suspense>
                    }
                  />
                  <Route path="*" element={<NotFoundPage />} />
                </Route>
              </Routes>
            </LiveProvider>
          </AuthProvider>
        </BrowserRouter>
      </QueryClientProvider>
    </ErrorBoundary>
  );
}
