package config

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

func metaNamed(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name} }
