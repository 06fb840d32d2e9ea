import type { ViewName } from '../routing/routes';
import { Overview } from './Overview';
import { Explorer } from './Explorer';
import { Timeline } from './Timeline';
import { Sessions } from './Sessions';
import { Security } from './Security';
import { Integrity } from './Integrity';
import { Compliance } from './Compliance';
import { Me } from './Me';

/** The view component of each view name. */
export function ViewSwitch({ view }: { view: ViewName }) {
  switch (view) {
    case 'overview': return <Overview />;
    case 'explorer': return <Explorer />;
    case 'timeline': return <Timeline />;
    case 'sessions': return <Sessions />;
    case 'security': return <Security />;
    case 'integrity': return <Integrity />;
    case 'compliance': return <Compliance />;
    case 'me': return <Me />;
  }
}
