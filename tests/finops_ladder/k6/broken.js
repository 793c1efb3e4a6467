// Not JavaScript k6 can load: k6 exits with a script error.
import http from 'k6/http';
export default function ( {
