import type { Alert, Logger } from '../types';
import { messageOf } from '../util/messageOf';

export type AlertListener = (alert: Alert) => void;

/**
 * The listeners of `tracker.on('alert')`. Each hears each new alert once, in the order the alerts
 * were created; a listener that throws is logged and the others still hear it.
 */
export class AlertListeners {
  private readonly listeners = new Set<AlertListener>();

  constructor(private readonly logger: Logger) {}

  add(listener: AlertListener): void {
    this.listeners.add(listener);
  }

  remove(listener: AlertListener): void {
    this.listeners.delete(listener);
  }

  emit(alert: Alert): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(alert);
      } catch (error) {
        this.logger.error('An alert listener threw; the other listeners were still called', { alertId: alert.id, rule: alert.rule, error: messageOf(error) });
      }
    }
  }
}
