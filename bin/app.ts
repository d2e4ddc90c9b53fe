#!/usr/bin/env node
import { synthReferenceApp } from '../lib/synth';

synthReferenceApp();
