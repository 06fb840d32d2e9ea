/** Roles whose every recorded action counts as privileged. */
export const PRIVILEGED_ROLES = ['admin', 'system_admin'] as const;
/** Activity types that count as privileged whoever performed them. */
export const PRIVILEGED_TYPES = ['data_delete'] as const;
