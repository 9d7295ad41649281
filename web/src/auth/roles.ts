// Who may do what (DESIGN.md invariant 6): the console offers only the buttons a role may use.
import type { Role } from "../api/types";

export const isEngineerOrAdmin = (role: Role) => role === "owner" || role === "admin" || role === "engineer";
export const isOwnerOrAdmin = (role: Role) => role === "owner" || role === "admin";
