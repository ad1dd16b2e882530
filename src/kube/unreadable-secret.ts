// The chart lets the controller read no Secret unless its values name it (prometheus.authSecretNames, or
// prometheus.readAnySecret), so a Rollout naming a Secret the operator has not listed meets a 403: say which field
// named it and what to set, not client-node's "HTTP-Code: 403 Message: Unknown API Status Code! Body: …".
import { apiMessage, httpStatus } from './errors.js';

/** The chart value that lists the Secrets the controller may read. */
export const SECRET_NAMES_VALUE = 'prometheus.authSecretNames';

/** The error for the Secret `name`, named by the Rollout's `field`, that could not be read. */
export function unreadableSecret(error: unknown, namespace: string, name: string, field: string): Error {
  const shown = JSON.stringify(name);
  if (httpStatus(error) !== 403) {
    return new Error(
      `${field}: could not read Secret ${shown} in namespace ${namespace} (${apiMessage(error)})`,
    );
  }
  return new Error(
    `${field}: the controller may not read Secret ${shown} in namespace ${namespace} (${apiMessage(error)}); ` +
      `installed with the Helm chart, add ${shown} to the list in the value ${SECRET_NAMES_VALUE} and run helm ` +
      `upgrade; otherwise grant the controller's ServiceAccount get on that Secret`,
  );
}
